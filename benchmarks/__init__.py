"""Speed benchmarks (`make bench`). Each reports ratios against a reference measured in the same run,
so the numbers mean something on any machine; none of this is a test and nothing here asserts."""
