"""One small module per command: each ``run(args)`` returns an exit code."""
