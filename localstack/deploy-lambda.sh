#!/usr/bin/env bash
# The LocalStack Lambda variant (docker-compose.localstack-lambda.yml): push the consumer image to LocalStack's
# ECR, create the function from it and an SQS event source mapping with the properties of deploy/template.yaml.
set -euo pipefail
aws() { command aws --endpoint-url "${AWS_ENDPOINT_URL:-http://localhost:4566}" --region "${AWS_REGION:-us-east-1}" "$@"; }
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test
queue="${QUEUE_NAME:-taskflow-tasks}"

registry=$(aws ecr create-repository --repository-name taskflow-consumer --query repository.repositoryUri --output text)
docker tag taskflow-consumer:local "$registry:local"
docker push "$registry:local"

aws lambda create-function --function-name task-consumer --package-type Image --code "ImageUri=$registry:local" \
  --role arn:aws:iam::000000000000:role/task-consumer --timeout "${FUNCTION_TIMEOUT_SECONDS:-30}" --memory-size 512 \
  --environment "Variables={DATABASE_URL=postgresql://postgres:postgres@postgres:5432/taskflow,AWS_ENDPOINT_URL=http://localstack:4566,QUEUE_NAME=$queue,FUNCTION_TIMEOUT_SECONDS=${FUNCTION_TIMEOUT_SECONDS:-30}}"
aws lambda wait function-active-v2 --function-name task-consumer

# One mapping per queue, as in deploy/template.yaml: the task queue, and the high-priority queue beside it.
for name in "$queue" "$queue-high"; do
  queue_arn=$(aws sqs get-queue-attributes --queue-url "$(aws sqs get-queue-url --queue-name "$name" --query QueueUrl --output text)" \
    --attribute-names QueueArn --query Attributes.QueueArn --output text)
  aws lambda create-event-source-mapping --function-name task-consumer --event-source-arn "$queue_arn" \
    --batch-size 10 --maximum-batching-window-in-seconds 1 --function-response-types ReportBatchItemFailures \
    --scaling-config MaximumConcurrency=2
done
echo "task-consumer now consumes $queue and $queue-high inside LocalStack"
