"""ganzoo's built-in plugins. Each module is registered through the ``ganzoo`` entry-point group in pyproject.toml, the
same way a third-party package registers its own; nothing else in ganzoo refers to them by name."""
