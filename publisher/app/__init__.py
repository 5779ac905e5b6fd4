"""The program: command line, runner, daemon, watcher, preview, status, queue."""
