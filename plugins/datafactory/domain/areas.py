"""GB/T 2260 area codes the factory knows (see shared/DOMAIN.md)."""

AREAS: dict[str, str] = {
    "330281": "Yuyao",
    "330502": "Huzhou Wuxing",
    "330503": "Huzhou Nanxun",
    "370102": "Jinan Lixia",
    "370103": "Jinan Shizhong",
    "370202": "Qingdao Shinan",
    "370203": "Qingdao Shibei",
    "532901": "Dali city",
    "532922": "Dali Yangbi",
}
