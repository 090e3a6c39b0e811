"""One module per generated source; each defines a ``ServiceGenerator`` or ``DropGenerator``."""
