"""The only code that leaves the process: files on disk and the web app."""
