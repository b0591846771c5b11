"""Zhenjiang as the simulator sees it: districts, their gig markets, stations, occupations.

Figures are plausible, not official: population weights follow the rough size
of each district and county, wages the daily rates gig markets post.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class District:
    name: str
    code: str  # short latin id used in market and station ids
    lat: float
    lon: float
    population_weight: float
    spread_km: float  # how far homes spread around the centre (one standard deviation)


@dataclass(frozen=True)
class Occupation:
    name: str
    daily_wage: float  # typical posted daily wage, CNY
    skills: tuple[str, ...]
    share: float  # share of posted jobs


DISTRICTS = (
    District("京口区", "jingkou", 32.22, 119.47, 0.16, 3.0),
    District("润州区", "runzhou", 32.17, 119.41, 0.14, 3.0),
    District("丹徒区", "dantu", 32.13, 119.43, 0.10, 5.0),
    District("镇江新区", "xinqu", 32.21, 119.68, 0.12, 5.0),
    District("丹阳市", "danyang", 32.00, 119.58, 0.26, 7.0),
    District("扬中市", "yangzhong", 32.24, 119.80, 0.09, 4.0),
    District("句容市", "jurong", 31.95, 119.17, 0.13, 7.0),
)

OCCUPATIONS = (
    Occupation("家政服务员", 220, ("保洁", "做饭", "照护老人"), 0.12),
    Occupation("保洁员", 160, ("保洁", "擦玻璃"), 0.10),
    Occupation("育婴员", 260, ("育婴", "早教"), 0.05),
    Occupation("快递员", 240, ("电动车", "分拣"), 0.10),
    Occupation("网约配送员", 230, ("电动车", "导航"), 0.10),
    Occupation("货车司机", 320, ("B2驾照", "C1驾照", "装卸"), 0.06),
    Occupation("装卸搬运工", 200, ("装卸", "叉车"), 0.12),
    Occupation("餐厅服务员", 150, ("传菜", "收银"), 0.10),
    Occupation("普工", 180, ("流水线", "质检", "包装"), 0.14),
    Occupation("电工", 300, ("电工证", "布线"), 0.04),
    Occupation("焊工", 320, ("焊工证", "氩弧焊"), 0.03),
    Occupation("电商主播", 280, ("直播", "选品"), 0.04),
)

TRAVEL_MODES = (("walk", 0.2), ("bike", 0.15), ("ebike", 0.4), ("transit", 0.15), ("car", 0.1))
STATIONS_PER_DISTRICT = 4
SURNAMES = "王李张刘陈杨赵黄周吴徐孙朱马胡郭何高林罗"
GIVEN_NAMES = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"
