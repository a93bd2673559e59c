"""A cluster across hosts: learner and actor tasks in network namespaces of their own, one actor host's
link cut and the learner killed and restarted while it trains (the short form of
benchmarks/cluster_faults.py, which also kills an actor host and measures throughput).

Skipped, with the reason, where network namespaces cannot be made (not root, no iproute2).
"""
import pytest

from benchmarks import cluster_faults
from benchmarks import netns_hosts

pytestmark = pytest.mark.skipif(bool(netns_hosts.unavailable()),
                                reason=f'no network namespaces here: {netns_hosts.unavailable()}')


def test_a_cluster_across_hosts_survives_a_cut_link_and_a_learner_restart(tmp_path):
  extra = ['--batch_size=2', '--summary_secs=1', '--checkpoint_secs=5', '--learner_timeout_secs=120',
           '--total_environment_frames=100000000']
  with netns_hosts.Hosts(['learner', 'actors1', 'actors2']) as hosts:
    cluster = cluster_faults.CrossHostCluster(hosts, ['actors1', 'actors2'], tasks_per_host=1,
                                              actors_per_task=1, logdir=tmp_path / 'run',
                                              logs=tmp_path, extra=extra)
    cluster.start_learner()
    for host in cluster.actor_hosts:
      cluster.start_actors(host)
    cluster.wait_for(lambda: cluster.frames() >= 1600, 240, 'training to start')
    assert 'listens on port 8001 of every network interface' in cluster.learner.text()

    # Actor host 1 cut off for 15 s: the learner trains on with host 2, and host 1's actor comes back.
    frames = cluster.frames()
    cut = cluster_faults.actor_fault(cluster, 'actors1', 'link down',
                                     lambda: hosts.set_link('actors1', False),
                                     lambda: hosts.set_link('actors1', True), 15, 150)
    assert cut['survived'] and cut['recover'] is not None, open(cluster.learner.log_path).read()[-3000:]
    assert 'Actor 0 has sent nothing' in cluster.learner_text()
    assert cluster.frames() > frames + 15 * 100  # It trained on meanwhile.

    # The learner killed: restarted, it resumes from its checkpoint, trains to a budget 10 steps on,
    # and the actor tasks reconnect, then end with it.
    restart = cluster_faults.learner_restart(cluster, tmp_path / 'run', steps_to_finish=10,
                                             frames_per_step=160, timeout=240)
    assert restart['checkpoint'] == 'intact'
    assert restart['ended'] and restart['actors_ended'], {
        task: t.text()[-2000:] for task, t in cluster.actors.items()}
