"""Local, network-free stand-ins for the external services socialhub talks to."""
