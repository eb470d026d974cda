"""Exceptions raised by the engine; every one names where the problem is."""


class DefinitionError(ValueError):
    """A model definition or its use in a network is wrong.

    Raised in Python before any compiler runs, naming the model, the
    population, the code field and the offending line where there is one.
    """

    def __init__(self, message, model=None, population=None, field=None,
                 line_no=None, line=None):
        where = []
        if population is not None:
            where.append(f"population '{population}'")
        if model is not None:
            where.append(f"model '{model}'")
        if field is not None:
            where.append(f"{field}" + (f" line {line_no}" if line_no else ""))
        text = message
        if where:
            text = f"{', '.join(where)}: {message}"
        if line is not None:
            text += f"\n    {line.strip()}"
        super().__init__(text)
        self.model = model
        self.population = population
        self.field = field
        self.line_no = line_no


class CompilerError(RuntimeError):
    """The system compiler rejected the generated source."""

    def __init__(self, message, source_path=None):
        super().__init__(message)
        self.source_path = source_path
