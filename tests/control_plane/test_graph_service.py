"""`services.nodes.graph`: the units an agent sees with their visible Input and Output nodes,
the edges between shown nodes only, a version that moves with any of them, and a limit."""

from fastapi import FastAPI

from control_plane.security import Agent, AgentType
from control_plane.services.nodes.graph import visible_graph
from pepeunit_core.db.enums import PermissionEntity, UnitNodeType, VisibilityLevel
from pepeunit_core.db.models import Permission, UnitNodeEdge
from tests.pepeunit_core.builders import add_node, add_registry, add_repo, add_unit, add_user


def test_the_graph_of_what_an_agent_sees(app: FastAPI):
    with app.state.context.session_factory() as session:
        alice, bob = add_user(session), add_user(session)
        repo = add_repo(session, alice, add_registry(session, alice))
        lamp = add_unit(session, alice, repo, "lamp")
        safe = add_unit(session, alice, repo, "safe")
        safe.visibility_level = VisibilityLevel.PRIVATE
        switch = add_node(session, lamp, UnitNodeType.OUTPUT, "switch/pepeunit")
        hidden = add_node(session, lamp, UnitNodeType.INPUT, "hidden/pepeunit")
        hidden.visibility_level = VisibilityLevel.PRIVATE
        lock = add_node(session, safe, UnitNodeType.INPUT, "lock/pepeunit")
        session.add_all([
            UnitNodeEdge(node_output_uuid=switch.uuid, node_input_uuid=lock.uuid),
            UnitNodeEdge(node_output_uuid=switch.uuid, node_input_uuid=hidden.uuid),
        ])  # fmt: skip
        session.commit()
        as_bob = Agent(AgentType.USER, bob.uuid, bob)

        graph = visible_graph(session, as_bob)
        assert [unit.name for unit in graph.units] == ["lamp"]
        assert [node.uuid for node in graph.nodes] == [switch.uuid]
        assert graph.edges == [] and not graph.truncated
        before = graph.version

        session.add(Permission(agent_type=PermissionEntity.USER, agent_user_uuid=bob.uuid,
                               resource_type=PermissionEntity.UNIT,
                               resource_unit_uuid=safe.uuid))  # fmt: skip
        session.commit()
        graph = visible_graph(session, as_bob)
        assert [unit.name for unit in graph.units] == ["lamp", "safe"]
        assert [(edge.output_uuid, edge.input_uuid) for edge in graph.edges] == [
            (switch.uuid, lock.uuid)
        ]
        assert not graph.edges[0].deletable  # neither its creator nor the input's
        assert graph.version != before

        session.add(Permission(agent_type=PermissionEntity.USER, agent_user_uuid=alice.uuid,
                               resource_type=PermissionEntity.UNIT,
                               resource_unit_uuid=safe.uuid))  # fmt: skip
        session.commit()
        as_alice = Agent(AgentType.USER, alice.uuid, alice)
        limited = visible_graph(session, as_alice, limit=1)
        assert [unit.name for unit in limited.units] == ["lamp"] and limited.truncated
        # Her own private node shows; the safe does not, so neither does its edge.
        assert [(edge.output_uuid, edge.input_uuid) for edge in limited.edges] == [
            (switch.uuid, hidden.uuid)
        ]
        assert all(edge.deletable for edge in visible_graph(session, as_alice).edges)
