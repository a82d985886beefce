"""Tiles over registered assets only: TiTiler factories and the MapProxy configuration (issue 3)."""
