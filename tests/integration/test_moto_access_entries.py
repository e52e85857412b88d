"""Cross-check of the sim's access-entry APIs against moto's server, where moto models them.

moto 5.2 has no route for ``/clusters/{name}/access-entries`` (404 from its router), so this
skips with that reason; once moto answers, the same calls must give the sim's answers: the
entry listed, DescribeAccessEntry's fields, ResourceNotFoundException for an unknown principal.
"""

from __future__ import annotations

from typing import Any

import botocore.session
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from ekstrio.sim.testing import SimHandle

NO_RETRY = Config(retries={"total_max_attempts": 1})
PRINCIPAL = "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_X_0"


def code(call: Any) -> str:
    with pytest.raises(ClientError) as exc:
        call()
    return str(exc.value.response["Error"]["Code"])


def test_moto_agrees_with_the_sim_where_it_models_access_entries(
        request: pytest.FixtureRequest) -> None:
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        moto = botocore.session.Session().create_client(
            "eks", region_name="eu-west-1", endpoint_url=f"http://{host}:{port}",
            aws_access_key_id="testing", aws_secret_access_key="testing", config=NO_RETRY)
        moto.create_cluster(name="web", roleArn="arn:aws:iam::123456789012:role/eks",
                            resourcesVpcConfig={})
        try:
            moto.create_access_entry(clusterName="web", principalArn=PRINCIPAL)
        except ClientError as exc:
            if exc.response["ResponseMetadata"]["HTTPStatusCode"] in (404, 405, 501):
                pytest.skip("moto's server has no access-entry routes (moto 5.2: 404)")
            raise
        assert moto.list_access_entries(clusterName="web")["accessEntries"] == [PRINCIPAL]
        entry = moto.describe_access_entry(clusterName="web", principalArn=PRINCIPAL)
        sim: SimHandle = request.getfixturevalue("sim")  # only once moto has something to say
        truth = next(e for a in sim.org["accounts"] for here in a["clusterAccess"].values()
                     for t in here.values() for e in t["accessEntries"])
        assert set(entry["accessEntry"]) <= set(truth) - {"associatedAccessPolicies"}
        assert code(lambda: moto.describe_access_entry(
            clusterName="web", principalArn=PRINCIPAL + "-none")) == "ResourceNotFoundException"
    finally:
        server.stop()
