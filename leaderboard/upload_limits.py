"""Refusing an upload over a size while it streams in, before any of it is written to disk.

Django writes an upload to a temporary file as it arrives and lets the view judge it afterwards;
a person's own page must not take half a gigabyte to refuse a file (design: nobody fills the disk
from their own page). The handler stops keeping the bytes once the limit is passed; the rest of
the request is read and dropped, so the browser still gets the page that says why.
"""

from django.core.files.uploadhandler import FileUploadHandler, StopUpload


class SizeLimit(FileUploadHandler):
    """Put first in ``request.upload_handlers``: past ``limit`` bytes in any one file, the upload
    stops and ``refused`` says so."""

    def __init__(self, limit: int, request=None):
        super().__init__(request)
        self.limit = limit
        self.refused = False

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        # A declared length far past the limit is refused without reading a file at all.
        if content_length > self.limit + 1024 * 1024:
            self.refused = True
        return None

    def new_file(self, *args, **kwargs):
        if self.refused:
            raise StopUpload(connection_reset=False)
        super().new_file(*args, **kwargs)

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            self.refused = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size):
        return None
