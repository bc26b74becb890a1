"""The syncer ("destrib-syncer" in the seed): routing, live delivery, counter updates, reconciliation."""
