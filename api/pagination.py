from django.conf import settings
from django.utils.translation import gettext
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response


class ScanPagination(PageNumberPagination):
    """`?page=N` (from 1) and `?page_size=` (default 20, at most 100). A page past the end is a 404."""

    page_size_query_param = "page_size"
    max_page_size = 100

    def get_paginated_response(self, data):
        assert self.page is not None  # set by paginate_queryset, which runs first
        return Response(
            {
                "count": self.page.paginator.count,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "results": data,
                "disclaimer": gettext(settings.DISCLAIMER),
            }
        )

    def get_paginated_response_schema(self, schema):
        response = super().get_paginated_response_schema(schema)
        descriptions = {
            "count": "How many scans match, over all pages.",
            "next": "The next page's URL, or `null` on the last page.",
            "previous": "The previous page's URL, or `null` on the first page.",
            "results": "This page's scans, newest first.",
        }
        for name, text in descriptions.items():
            response["properties"][name]["description"] = text
        response["properties"]["disclaimer"] = {
            "type": "string",
            "description": "FaceDiag is a screening aid, never a diagnosis.",
        }
        response["required"] = ["count", "next", "previous", "results", "disclaimer"]
        return response
