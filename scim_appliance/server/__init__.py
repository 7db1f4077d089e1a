"""What runs beside the routes while the appliance serves: worker processes, the background
threads (log writer, failure email), and /healthz. It may import `domain`, `storage` and
`scim`; nothing imports it but `cli` and the app factory."""
