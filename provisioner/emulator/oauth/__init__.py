"""The emulated OAuth2 runtime: service-account JWT bearer grant, realm token endpoints, tokens."""
