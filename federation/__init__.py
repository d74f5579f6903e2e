"""Generic ActivityPub machinery; knows nothing of assemblies."""
