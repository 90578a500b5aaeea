"""What runs beside the pods on a node, and what their processes share with it.

- :mod:`~fleetsim.node.process`: the app's process: its memory map, its address-space
  lock, its stop-the-world freezes, what a request waits for when it starts;
- :mod:`~fleetsim.node.mmap_lock`: the address-space lock (``mm->mmap_lock``);
- :mod:`~fleetsim.node.cadvisor`: the node agent whose working-set estimate walks the
  page tables of every process on the node;
- :mod:`~fleetsim.node.disk`: a node's disks and the co-tenants that write in bursts;
- :mod:`~fleetsim.node.pauses`: stop-the-world pauses as a process mechanism;
- :mod:`~fleetsim.node.host`: one node's agents, disks and processes together;
- :mod:`~fleetsim.node.stalls`: what the stalls cost, by cause.

The Kubernetes room places pods on nodes and starts their processes here; the data plane
sees only :class:`fleetsim.dataplane.protocols.ProcessHooks` and the container's
``freeze``/``thaw``.
"""
