"""moto in server mode as the AWS endpoint of the deploy guide's test, with what AWS does and moto 5.2.5 does not,
where the guide's stack needs it. Each addition is small and says what it models; everything else is moto's own.

1. CloudFormation applies the template's `AWS::Serverless-2016-10-31` transform (SAM), as AWS does on CreateChangeSet,
   and a stack created by executing a change set (as `sam deploy` does) has the change set's outputs.
2. `${Database.Endpoint.Address}` in Fn::Sub is the attribute `Endpoint.Address` (moto reads `Endpoint`).
3. AWS::RDS::DBInstance keeps ManageMasterUserPassword (its secret, `MasterUserSecret.SecretArn`) and the engine's
   default port (moto takes MySQL's 3306 for every engine).
4. AWS::SecretsManager::Secret, which moto's CloudFormation skips: a secret holding what GenerateSecretString makes.
5. AWS::RDS::DBProxy and AWS::RDS::DBProxyTargetGroup, which it skips too, though moto's RDS API has proxies.
6. AWS::Lambda::Function keeps its PackageType, and, as Lambda does, refuses an image its ECR repository lacks.
7. RunTask of a Fargate task definition whose memory is set for the task only, not per container (moto fails).

Runs in .venv-deploy, where moto and the SAM translator live:
    .venv-deploy/bin/python tests/deploy/moto_server.py PORT
"""

import copy
import json
import sys
import threading

import boto3
from moto.awslambda.exceptions import LambdaClientError
from moto.awslambda.models import LambdaFunction
from moto.cloudformation import models, parsing
from moto.core.common_models import CloudFormationModel
from moto.ecr.models import ecr_backends
from moto.ecs.models import EC2ContainerServiceBackend
from moto.rds.models import DBInstance, MasterUserSecret, rds_backends
from moto.secretsmanager.models import secretsmanager_backends
from moto.server import ThreadedMotoServer
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

SAM = "AWS::Serverless-2016-10-31"
moto_parse = models.Stack.parse_template
moto_clean_json = parsing.clean_json
moto_execute_change_set = models.CloudFormationBackend.execute_change_set
moto_create_function = LambdaFunction.create_from_cloudformation_json.__func__
moto_task_requirements = EC2ContainerServiceBackend._calculate_task_resource_requirements
moto_create_db_instance = DBInstance.create_from_cloudformation_json.__func__
moto_db_instance_attribute = DBInstance.get_cfn_attribute


def parse_as_cloudformation(template: str, region: str) -> dict:
    """The template as CloudFormation sees it: SAM's transform applied."""
    parsed = yaml_parse(template)
    if not (isinstance(parsed, dict) and SAM in (parsed.get("Transform") or [])):
        return moto_parse(template)
    # The template names no managed policy, so the translator never needs IAM's list of them.
    translator = Translator(None, Parser(), boto_session=boto3.Session(region_name=region))
    return translator.translate(parsed, parameter_values={}, get_managed_policy_map=dict)


def parse_stack(stack: models.Stack) -> None:
    stack.template_dict = parse_as_cloudformation(stack.template, stack.region_name)


def parse_change_set(change_set: models.ChangeSet) -> None:
    change_set.template_dict = parse_as_cloudformation(change_set.template, change_set.stack.region_name)


def execute_change_set(backend: models.CloudFormationBackend, change_set_name: str, stack_name=None) -> None:
    moto_execute_change_set(backend, change_set_name, stack_name)
    change_set = backend.change_sets.get(change_set_name) or next(
        c for c in backend.change_sets.values() if c.change_set_name == change_set_name)  # fmt: skip
    stack = backend.stacks[change_set.stack_id]
    stack.template_dict = change_set.template_dict
    stack.output_map = stack._create_output_map()


def clean_json(value, resources_map):
    """moto's intrinsic functions, with a dotted attribute in Fn::Sub kept whole."""
    if isinstance(value, dict) and len(value.get("Fn::GetAtt") or ()) > 2:
        name, *attribute = value["Fn::GetAtt"]
        value = {"Fn::GetAtt": [name, ".".join(attribute)]}
    return moto_clean_json(value, resources_map)


def create_db_instance(cls, resource_name: str, cloudformation_json: dict, *args, **kwargs) -> DBInstance:
    """moto's AWS::RDS::DBInstance, with the master user's secret and the engine's default port."""
    database = moto_create_db_instance(cls, resource_name, cloudformation_json, *args, **kwargs)
    properties = cloudformation_json["Properties"]
    if "Port" not in properties:
        database.port = DBInstance.default_port(properties["Engine"])
    if properties.get("ManageMasterUserPassword"):
        kms_key = properties.get("MasterUserSecret", {}).get("KmsKeyId")
        database.master_user_secret = MasterUserSecret(database, kms_key)
        database.manage_master_user_password = True
    return database


def db_instance_attribute(database: DBInstance, name: str):
    if name == "MasterUserSecret.SecretArn" and database.manage_master_user_password:
        return database.master_user_secret.secret_arn
    return moto_db_instance_attribute(database, name)


def create_function(cls, resource_name: str, cloudformation_json: dict, account_id: str, region_name: str, **kwargs):
    """moto's AWS::Lambda::Function, with its PackageType and Lambda's check that the image exists."""
    properties = cloudformation_json["Properties"]
    if properties.get("PackageType") == "Image":
        require_image(properties["Code"]["ImageUri"], account_id, region_name)
    function = moto_create_function(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    function.package_type = properties.get("PackageType", "Zip")
    return function


def require_image(uri: str, account_id: str, region_name: str) -> None:
    repository, _, tag = uri.partition("/")[2].rpartition(":")
    found = ecr_backends[account_id][region_name].batch_get_image(repository, image_ids=[{"imageTag": tag}])
    if not found["images"]:
        raise LambdaClientError("InvalidParameterValueException",
                                f"Source image {uri} does not exist. Provide a valid source image.")  # fmt: skip


def task_requirements(task_definition) -> dict:
    """moto sums each container's memory; a Fargate task definition may give memory for the task alone."""
    definition = copy.copy(task_definition)
    definition.container_definitions = [{"memory": 0} | c for c in task_definition.container_definitions]
    return moto_task_requirements(definition)


class GeneratedSecret(CloudFormationModel):
    """AWS::SecretsManager::Secret: SecretString, or the JSON GenerateSecretString makes; Ref is the ARN."""

    __module__ = "moto.secretsmanager.cloudformation"  # moto files each model under the service its module names

    def __init__(self, arn: str, account_id: str, region_name: str):
        self.arn, self.account_id, self.region_name = arn, account_id, region_name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SecretsManager::Secret"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "Name"

    @property
    def physical_resource_id(self) -> str:
        return self.arn

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        backend = secretsmanager_backends[account_id][region_name]
        value = properties.get("SecretString") or generated_string(backend, properties["GenerateSecretString"])
        backend.create_secret(name=resource_name, secret_string=value, secret_binary=None,
                              description=properties.get("Description"), tags=properties.get("Tags"),
                              kms_key_id=properties.get("KmsKeyId"), client_request_token=None,
                              replica_regions=[], force_overwrite=False)  # fmt: skip
        return cls(backend.describe_secret(resource_name).arn, account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        backend = secretsmanager_backends[account_id][region_name]
        backend.delete_secret(self.arn, recovery_window_in_days=None, force_delete_without_recovery=True)


def generated_string(backend, generate: dict) -> str:
    """What Secrets Manager stores for a GenerateSecretString: the template with a random password at its key."""
    password = json.loads(backend.get_random_password(
        password_length=int(generate.get("PasswordLength", 32)),
        exclude_characters=generate.get("ExcludeCharacters", ""),
        exclude_numbers=bool(generate.get("ExcludeNumbers")),
        exclude_punctuation=bool(generate.get("ExcludePunctuation")),
        exclude_uppercase=bool(generate.get("ExcludeUppercase")),
        exclude_lowercase=bool(generate.get("ExcludeLowercase")),
        include_space=bool(generate.get("IncludeSpace")),
        require_each_included_type=bool(generate.get("RequireEachIncludedType", True)),
    ))["RandomPassword"]  # fmt: skip
    if "GenerateStringKey" not in generate:
        return password
    return json.dumps(json.loads(generate["SecretStringTemplate"]) | {generate["GenerateStringKey"]: password})


class DatabaseProxy(CloudFormationModel):
    """AWS::RDS::DBProxy through moto's RDS API: Ref is the proxy's name, GetAtt Endpoint and DBProxyArn."""

    __module__ = "moto.rds.cloudformation"

    def __init__(self, proxy):
        self.proxy = proxy

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::RDS::DBProxy"

    @staticmethod
    def cloudformation_name_type() -> str:
        return "DBProxyName"

    @property
    def physical_resource_id(self) -> str:
        return self.proxy.db_proxy_name

    @classmethod
    def has_cfn_attr(cls, name: str) -> bool:
        return name in ("Endpoint", "DBProxyArn")

    def get_cfn_attribute(self, name: str) -> str:
        return self.proxy.endpoint if name == "Endpoint" else self.proxy.arn

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        proxy = rds_backends[account_id][region_name].create_db_proxy(
            db_proxy_name=resource_name, engine_family=properties["EngineFamily"], auth=properties["Auth"],
            role_arn=properties["RoleArn"], vpc_subnet_ids=properties["VpcSubnetIds"],
            vpc_security_group_ids=properties.get("VpcSecurityGroupIds"), require_tls=properties.get("RequireTLS"),
            idle_client_timeout=properties.get("IdleClientTimeout"), debug_logging=properties.get("DebugLogging"),
            tags=properties.get("Tags"))  # fmt: skip
        return cls(proxy)

    def delete(self, account_id: str, region_name: str) -> None:
        rds_backends[account_id][region_name].delete_db_proxy(self.proxy.db_proxy_name)


class DatabaseProxyTargets(CloudFormationModel):
    """AWS::RDS::DBProxyTargetGroup: the proxy's default group, its pool settings and its database targets."""

    __module__ = "moto.rds.cloudformation"

    def __init__(self, proxy_name: str):
        self.proxy_name = proxy_name

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::RDS::DBProxyTargetGroup"

    @property
    def physical_resource_id(self) -> str:
        return f"{self.proxy_name}/default"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
        properties = cloudformation_json["Properties"]
        backend = rds_backends[account_id][region_name]
        proxy_name = properties["DBProxyName"]
        backend.register_db_proxy_targets(
            proxy_name, properties.get("TargetGroupName", "default"),
            db_cluster_identifiers=properties.get("DBClusterIdentifiers", []),
            db_instance_identifiers=properties.get("DBInstanceIdentifiers", []))  # fmt: skip
        backend.modify_db_proxy_target_group(proxy_name, properties.get("ConnectionPoolConfigurationInfo", {}))
        return cls(proxy_name)

    def delete(self, account_id: str, region_name: str) -> None:
        """The group goes with its proxy, as on AWS."""


models.Stack._parse_template = parse_stack
models.ChangeSet._parse_template = parse_change_set
models.CloudFormationBackend.execute_change_set = execute_change_set
parsing.clean_json = clean_json
LambdaFunction.create_from_cloudformation_json = classmethod(create_function)
EC2ContainerServiceBackend._calculate_task_resource_requirements = staticmethod(task_requirements)
DBInstance.create_from_cloudformation_json = classmethod(create_db_instance)
DBInstance.get_cfn_attribute = db_instance_attribute
DBInstance.has_cfn_attr = classmethod(lambda cls, name: name in ("Endpoint.Address", "Endpoint.Port",
                                                                   "MasterUserSecret.SecretArn"))  # fmt: skip

if __name__ == "__main__":
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]))
    server.start()
    print("moto is up", flush=True)
    threading.Event().wait()
