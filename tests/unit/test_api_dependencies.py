"""The API's dependencies run on the event loop: FastAPI hands a plain `def` dependency to a worker thread."""

import importlib
import inspect
import pkgutil

from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

import api.routes
from api import metrics


def dependencies_of(dependant: Dependant):
    for dependency in dependant.dependencies:
        yield dependency.call
        yield from dependencies_of(dependency)


def runs_on_the_event_loop(call) -> bool:
    target = call if inspect.isfunction(call) or inspect.ismethod(call) else type(call).__call__
    return inspect.iscoroutinefunction(target) or inspect.isasyncgenfunction(target)


def every_route() -> list[APIRoute]:
    """The routes of every router in api.routes, and /metrics."""
    modules = [importlib.import_module(f"api.routes.{m.name}") for m in pkgutil.iter_modules(api.routes.__path__)]
    values = [value for module in [*modules, metrics] for value in vars(module).values()]
    routers = [value for value in values if isinstance(value, APIRouter)]
    return [route for router in routers for route in router.routes if isinstance(route, APIRoute)]


def test_no_route_has_a_dependency_that_needs_a_worker_thread():
    routes = every_route()
    threaded = {
        f"{route.path}: {getattr(call, '__name__', type(call).__name__)}"
        for route in routes
        for call in dependencies_of(route.dependant)
        if not runs_on_the_event_loop(call)
    }
    assert len(routes) > 20 and threaded == set()
