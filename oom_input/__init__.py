"""oom-input: Linux kernel OOM-killer reports in, one structured record per kill out."""

__version__ = "0.1.0"
