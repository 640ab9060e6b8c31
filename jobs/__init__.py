"""Job manager: turns requests into Runs and Runs into calls of the etl library."""
