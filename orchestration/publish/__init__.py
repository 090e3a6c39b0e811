"""Publish domain: the publish gate and the gold snapshot."""
