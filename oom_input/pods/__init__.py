"""Pod metadata for records: who was killed, in the words people search for.

``model`` (PodInfo, the ``kubernetes`` object, owner -> workload), one module per source
(``kubelet_logs``: the node's files; ``pods_file``: ``kubectl get pods -o json`` offline;
``api``: the API server), and ``enricher``, which asks them cheapest first.
"""
