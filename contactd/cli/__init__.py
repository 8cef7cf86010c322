"""The command line: `contactd run`, `demo`, `staff`, `report`, `staffing`, `classifier`."""
