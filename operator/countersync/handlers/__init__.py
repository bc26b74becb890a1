"""kopf handlers, one module per concern. ``countersync.wiring`` registers them."""
