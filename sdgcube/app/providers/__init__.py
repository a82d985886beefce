"""pygeoapi provider plugins over sdgcube's stores, named by dotted path in the pygeoapi config."""
