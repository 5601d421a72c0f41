"""Running: the wiring (one cleanup context per resource), the command line, the gunicorn pool, logging and what a
start says about itself."""
