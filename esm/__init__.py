"""A local event source mapping: what AWS Lambda's SQS trigger does, for a Lambda handler running on this machine."""
