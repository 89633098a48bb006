"""SecondMe: a local-first second self with a private memory and a local LLM."""

__version__ = "0.1.0"
