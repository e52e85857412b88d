"""ekstrio: find every EKS cluster you can reach through IAM Identity Center."""

__version__ = "0.1.0"
