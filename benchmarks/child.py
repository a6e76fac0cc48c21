"""Run one command as a child process and print its peak resident memory (MB) on a last line."""

import resource
import subprocess
import sys

if __name__ == "__main__":
    result = subprocess.run([sys.executable, *sys.argv[1:]])
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(f"peak-rss-mb {peak_kb // 1024}")
    sys.exit(result.returncode)
