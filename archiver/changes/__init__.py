"""What changed: text diffs (``diff``, ``words``), the seed post's claims against a page
(``align``), version and seed comparisons (``compare``), and their rendering as text,
markdown, JSON and HTML (``render``, ``report``, ``templates/``).
"""
