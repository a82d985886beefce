"""OGC API Processes: pygeoapi processors and the job manager over the cube (issues 3 and 4)."""
