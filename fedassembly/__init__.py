"""fedassembly: a federated ActivityPub server for neighborhood assemblies and councils."""

__version__ = "0.1.0"
