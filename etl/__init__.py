"""hockeyops pipeline library: catalog, sources, builders, output store. Knows nothing of Django."""
