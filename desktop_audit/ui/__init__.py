"""The Qt front of desktop_audit: a thin layer over the services (the only package that imports Qt)."""
