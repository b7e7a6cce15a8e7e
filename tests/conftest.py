"""pytest configuration shared by the whole suite: hypothesis keeps examples few and undeadlined
(gradient checks run many small forward passes)."""
from hypothesis import HealthCheck, settings

settings.register_profile("dlcore", max_examples=12, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("dlcore")
