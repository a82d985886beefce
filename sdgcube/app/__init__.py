"""The one Starlette application composing pygeoapi, TiTiler and MapProxy (issue 3)."""
