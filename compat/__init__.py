"""Foreign software run against kbroker: client scenarios, the compatibility matrix."""
