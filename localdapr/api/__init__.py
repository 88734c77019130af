"""API layers: translate gRPC and HTTP requests to the building blocks, and errors back."""
