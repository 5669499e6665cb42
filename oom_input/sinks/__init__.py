"""Output formats, one module each, registered in ``oom_input.registry.OUTPUT_FORMATS``: each
sink class follows ``oom_input.types.Sink`` and is built by ``from_options(stream, options)``."""
