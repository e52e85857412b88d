"""Thin async clients and pure protocol code for the AWS HTTP APIs ekstrio speaks."""
