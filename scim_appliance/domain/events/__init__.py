"""Events out (issue 16): the event catalogue, the transactional outbox, webhook
endpoints, signed delivery with retries, and the alarm when Entra goes quiet.

May import `notify` (the silence mail), `storage`, `clock` and `display`; the resource
and access services import `outbox` to record their changes, so nothing here imports them.
"""
