"""The league's HTTP API (JSON, bearer tokens) over the same services as the admin and the CLI."""
