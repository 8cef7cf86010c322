"""The HTTP side: the app's routes, handlers, pages and the error middleware."""
