"""fedassembly: a federated ActivityPub server for neighborhood assemblies and councils."""
