"""One class per area of the API, each binding the client's request path to its endpoints."""
