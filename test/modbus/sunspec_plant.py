#!/usr/bin/python3
"""SunSpec storage plant: a simulated battery served over Modbus TCP.

Test fixture for cleori's Modbus/SunSpec support. It uses the Debian package
python3-pymodbus (3.0.0rc1), which is installed for /usr/bin/python3 only.

Register map (0-based protocol addresses, holding registers, any unit id):

    40000  'SunS' marker            0x5375 0x6e53
    40002  model 1    Common        L=66
    40070  model 701  DERMeasureAC  L=153
    40225  model 704  DERCtlAC      L=65
    40292  model 713  DERStorageCapacity L=7
    40301  model 802  battery       L=62
    40365  end marker               0xFFFF 0x0000

The layouts follow the SunSpec model definitions in github.com/sunspec/models
(json/model_1.json, model_701.json, model_704.json, model_713.json,
model_802.json). Offsets below count from the model's ID register (ID at 0,
L at 1, first point at 2). The points that act on the plant:

    704 +22  WSetEna  enum16  RW  0 = disabled, 1 = enabled
    704 +23  WSetMod  enum16  RW  0 = W_MAX_PCT (use WSetPct), 1 = WATTS (use WSet); initial 1
    704 +24  WSet     int32   RW  W, scale WSet_SF (704 +55) = 0
    704 +28  WSetPct  int16   RW  % of --max-kw, scale WSetPct_SF (704 +56) = -1
    802 +19  CtrlHb   uint16  RW  controller heartbeat, watched if --heartbeat-ms > 0
    802 +20  AlmRst   uint16  RW  write 1 to clear a latched heartbeat fault
    802 +50  SetOp    enum16  RW  1 = CONNECT, 2 = DISCONNECT (power forced to 0)

  Sign: positive W = discharge (export, DER generation), negative W = charge
  (absorption), for both the 704 setpoint and the 701/802 measurements.

Measurements the plant keeps up to date:

    701 +10  W        int16   AC active power, scale W_SF (701 +116)
    701 +4   InvSt    enum16  3 RUNNING, 7 STANDBY, 6 FAULT
    713 +4   SoC      uint16  %, scale Pct_SF (713 +8) = -1
    802 +11  SoC      uint16  %, scale SoC_SF (802 +56) = -1
    802 +18  Hb       uint16  plant heartbeat, +1 every second
    802 +22  State    enum16  3 CONNECTED, 1 DISCONNECTED, 99 FAULT
    802 +26  Evt1     bitfield32, bit 0 COMMUNICATION_ERROR on heartbeat loss
    802 +47  W        int16   DC power at the battery, scale 802 W_SF (802 +63)

W_SF (701 and 802) is the smallest SF >= 0 for which the largest power
(--max-kw / sqrt(eta) on the DC side) fits int16: 1, i.e. 10 W steps, for the
default 100 kW.

Behaviour:
  * The commanded power is WSet * 10^WSet_SF W (WSetMod = 1) or
    WSetPct * 10^WSetPct_SF % of --max-kw (WSetMod = 0) while WSetEna = 1,
    else 0. It is clamped to +-max and applied as a step --response-ms after
    the write that changed it. Each such change is logged to stderr.
  * SoC integrates: charging stores |p|*sqrt(eta), discharging draws
    p/sqrt(eta). Discharge stops at 0 %, charge at 100 %.
  * --heartbeat-ms > 0: if CtrlHb keeps its value for longer than that
    (timed from start-up and from each change), the plant trips: power goes to
    0 at once, WSetEna is reset to 0, 802 State = FAULT (99), 802 Evt1 bit 0
    (COMMUNICATION_ERROR) is set, 701 InvSt = FAULT (6), 713 Sta = ERROR (2).
    The fault clears when CtrlHb changes again or on AlmRst = 1. The
    controller must then write WSetEna = 1 again.
  * Writes (FC 6/16) are allowed only to points that are RW in the model
    definitions. Other writes, and reads outside 40000..40366, get exception
    02 (illegal data address). Input registers (FC 4) mirror the holding
    registers. Coils and discrete inputs are not served.

Prints "sunspec-plant: listening on HOST:PORT" to stdout once listening.
SIGTERM/SIGINT end it with exit status 0.
"""

import argparse
import asyncio
import logging
import math
import signal
import sys
import time
import types


def _stub_pyserial():
    """Debian's python3-pymodbus 3.0.0 imports pyserial and pyserial-asyncio
    unconditionally (server/async_io.py, client/serial.py), but the packages
    python3-serial / python3-serial-asyncio may be missing. Only the serial
    transports use them, so empty stand-ins are enough for TCP."""
    for name in ("serial", "serial_asyncio"):
        try:
            __import__(name)
        except ImportError:
            mod = types.ModuleType(name)
            if name == "serial_asyncio":
                async def create_serial_connection(*_a, **_k):
                    raise RuntimeError("pyserial-asyncio is not installed")
                mod.create_serial_connection = create_serial_connection
            sys.modules[name] = mod


_stub_pyserial()

# pylint: disable=wrong-import-position
from pymodbus.datastore import (
    ModbusSequentialDataBlock,
    ModbusServerContext,
    ModbusSlaveContext,
)
from pymodbus.server.async_io import ModbusTcpServer

BASE = 40000
TICK_S = 0.02
DC_VOLTS = 800.0  # nominal DC bus voltage for the 802 current/Ah points

# Point types: (registers, "not implemented" value)
TYPES = {
    "uint16": (1, 0xFFFF),
    "int16": (1, 0x8000),
    "enum16": (1, 0xFFFF),
    "sunssf": (1, 0x8000),
    "pad": (1, 0x8000),
    "uint32": (2, 0xFFFFFFFF),
    "int32": (2, 0x80000000),
    "bitfield32": (2, 0xFFFFFFFF),
    "uint64": (4, 0xFFFFFFFFFFFFFFFF),
    "string": (None, 0),
}

WRITE_FCS = (5, 6, 15, 16, 22, 23)


def P(name, typ, size=None, access="R"):
    """One point definition: name, type, size (strings only), access."""
    return (name, typ, size, access)


MODEL_1 = [
    P("Mn", "string", 16), P("Md", "string", 16), P("Opt", "string", 8),
    P("Vr", "string", 8), P("SN", "string", 16), P("DA", "uint16", access="RW"),
    P("Pad", "pad"),
]

MODEL_701 = [
    P("ACType", "enum16"), P("St", "enum16"), P("InvSt", "enum16"),
    P("ConnSt", "enum16"), P("Alrm", "bitfield32"), P("DERMode", "bitfield32"),
    P("W", "int16"), P("VA", "int16"), P("Var", "int16"), P("PF", "int16"),
    P("A", "int16"), P("LLV", "uint16"), P("LNV", "uint16"), P("Hz", "uint32"),
    P("TotWhInj", "uint64"), P("TotWhAbs", "uint64"),
    P("TotVarhInj", "uint64"), P("TotVarhAbs", "uint64"),
    P("TmpAmb", "int16"), P("TmpCab", "int16"), P("TmpSnk", "int16"),
    P("TmpTrns", "int16"), P("TmpSw", "int16"), P("TmpOt", "int16"),
]
for _ph, _vv in (("L1", "VL1L2"), ("L2", "VL2L3"), ("L3", "VL3L1")):
    MODEL_701 += [
        P("W" + _ph, "int16"), P("VA" + _ph, "int16"), P("Var" + _ph, "int16"),
        P("PF" + _ph, "int16"), P("A" + _ph, "int16"), P(_vv, "uint16"),
        P("V" + _ph, "uint16"),
        P("TotWhInj" + _ph, "uint64"), P("TotWhAbs" + _ph, "uint64"),
        P("TotVarhInj" + _ph, "uint64"), P("TotVarhAbs" + _ph, "uint64"),
    ]
MODEL_701 += [
    P("ThrotPct", "uint16"), P("ThrotSrc", "bitfield32"),
    P("A_SF", "sunssf"), P("V_SF", "sunssf"), P("Hz_SF", "sunssf"),
    P("W_SF", "sunssf"), P("PF_SF", "sunssf"), P("VA_SF", "sunssf"),
    P("Var_SF", "sunssf"), P("TotWh_SF", "sunssf"), P("TotVarh_SF", "sunssf"),
    P("Tmp_SF", "sunssf"), P("MnAlrmInfo", "string", 32),
]

MODEL_704 = [
    P("PFWInjEna", "enum16", access="RW"), P("PFWInjEnaRvrt", "enum16", access="RW"),
    P("PFWInjRvrtTms", "uint32", access="RW"), P("PFWInjRvrtRem", "uint32"),
    P("PFWAbsEna", "enum16", access="RW"), P("PFWAbsEnaRvrt", "enum16", access="RW"),
    P("PFWAbsRvrtTms", "uint32", access="RW"), P("PFWAbsRvrtRem", "uint32"),
    P("WMaxLimPctEna", "enum16", access="RW"), P("WMaxLimPct", "uint16", access="RW"),
    P("WMaxLimPctRvrt", "uint16", access="RW"),
    P("WMaxLimPctEnaRvrt", "enum16", access="RW"),
    P("WMaxLimPctRvrtTms", "uint32", access="RW"), P("WMaxLimPctRvrtRem", "uint32"),
    P("WSetEna", "enum16", access="RW"), P("WSetMod", "enum16", access="RW"),
    P("WSet", "int32", access="RW"), P("WSetRvrt", "int32", access="RW"),
    P("WSetPct", "int16", access="RW"), P("WSetPctRvrt", "int16", access="RW"),
    P("WSetEnaRvrt", "enum16", access="RW"), P("WSetRvrtTms", "uint32", access="RW"),
    P("WSetRvrtRem", "uint32"),
    P("VarSetEna", "enum16", access="RW"), P("VarSetMod", "enum16", access="RW"),
    P("VarSetPri", "enum16", access="RW"), P("VarSet", "int32", access="RW"),
    P("VarSetRvrt", "int32", access="RW"), P("VarSetPct", "int16", access="RW"),
    P("VarSetPctRvrt", "int16", access="RW"),
    P("VarSetEnaRvrt", "enum16", access="RW"),
    P("VarSetRvrtTms", "uint32", access="RW"), P("VarSetRvrtRem", "uint32"),
    P("WRmp", "uint16", access="RW"), P("WRmpRef", "enum16", access="RW"),
    P("VarRmp", "uint16", access="RW"), P("AntiIslEna", "enum16", access="RW"),
    P("PF_SF", "sunssf"), P("WMaxLimPct_SF", "sunssf"), P("WSet_SF", "sunssf"),
    P("WSetPct_SF", "sunssf"), P("VarSet_SF", "sunssf"), P("VarSetPct_SF", "sunssf"),
    # groups PFWInj, PFWInjRvrt, PFWAbs, PFWAbsRvrt: PF uint16 + Ext enum16 each
    P("PFWInj.PF", "uint16", access="RW"), P("PFWInj.Ext", "enum16", access="RW"),
    P("PFWInjRvrt.PF", "uint16", access="RW"), P("PFWInjRvrt.Ext", "enum16", access="RW"),
    P("PFWAbs.PF", "uint16", access="RW"), P("PFWAbs.Ext", "enum16", access="RW"),
    P("PFWAbsRvrt.PF", "uint16", access="RW"), P("PFWAbsRvrt.Ext", "enum16", access="RW"),
]

MODEL_713 = [
    P("WHRtg", "uint16"), P("WHAvail", "uint16"), P("SoC", "uint16"),
    P("SoH", "uint16"), P("Sta", "enum16"), P("WH_SF", "sunssf"),
    P("Pct_SF", "sunssf"),
]

MODEL_802 = [
    P("AHRtg", "uint16"), P("WHRtg", "uint16"), P("WChaRteMax", "uint16"),
    P("WDisChaRteMax", "uint16"), P("DisChaRte", "uint16"), P("SoCMax", "uint16"),
    P("SoCMin", "uint16"), P("SocRsvMax", "uint16", access="RW"),
    P("SoCRsvMin", "uint16", access="RW"), P("SoC", "uint16"), P("DoD", "uint16"),
    P("SoH", "uint16"), P("NCyc", "uint32"), P("ChaSt", "enum16"),
    P("LocRemCtl", "enum16"), P("Hb", "uint16"), P("CtrlHb", "uint16", access="RW"),
    P("AlmRst", "uint16", access="RW"), P("Typ", "enum16"), P("State", "enum16"),
    P("StateVnd", "enum16"), P("WarrDt", "uint32"), P("Evt1", "bitfield32"),
    P("Evt2", "bitfield32"), P("EvtVnd1", "bitfield32"), P("EvtVnd2", "bitfield32"),
    P("V", "uint16"), P("VMax", "uint16"), P("VMin", "uint16"),
    P("CellVMax", "uint16"), P("CellVMaxStr", "uint16"), P("CellVMaxMod", "uint16"),
    P("CellVMin", "uint16"), P("CellVMinStr", "uint16"), P("CellVMinMod", "uint16"),
    P("CellVAvg", "uint16"), P("A", "int16"), P("AChaMax", "uint16"),
    P("ADisChaMax", "uint16"), P("W", "int16"), P("ReqInvState", "enum16"),
    P("ReqW", "int16"), P("SetOp", "enum16", access="RW"),
    P("SetInvState", "enum16", access="RW"),
    P("AHRtg_SF", "sunssf"), P("WHRtg_SF", "sunssf"), P("WChaDisChaMax_SF", "sunssf"),
    P("DisChaRte_SF", "sunssf"), P("SoC_SF", "sunssf"), P("DoD_SF", "sunssf"),
    P("SoH_SF", "sunssf"), P("V_SF", "sunssf"), P("CellV_SF", "sunssf"),
    P("A_SF", "sunssf"), P("AMax_SF", "sunssf"), P("W_SF", "sunssf"),
]

MODELS = [(1, MODEL_1), (701, MODEL_701), (704, MODEL_704), (713, MODEL_713),
          (802, MODEL_802)]

# Offsets from the model ID register, checked against sunspec/models.
EXPECTED = {
    1: {"L": 66, "Mn": 2, "SN": 50, "DA": 66},
    701: {"L": 153, "InvSt": 4, "W": 10, "W_SF": 116, "MnAlrmInfo": 123},
    704: {"L": 65, "WSetEna": 22, "WSetMod": 23, "WSet": 24, "WSetPct": 28,
          "WSet_SF": 55, "WSetPct_SF": 56},
    713: {"L": 7, "SoC": 4, "Sta": 6, "Pct_SF": 8},
    802: {"L": 62, "SoC": 11, "Hb": 18, "CtrlHb": 19, "AlmRst": 20, "State": 22,
          "Evt1": 26, "W": 47, "SetOp": 50, "SoC_SF": 56, "W_SF": 63},
}


class RegisterMap:
    """Flat register image with the SunSpec model chain laid out in it."""

    def __init__(self):
        self.points = {}  # (model, name) -> (addr, type, size)
        self.writable = set()
        self.model_addr = {}
        regs = [0x5375, 0x6E53]  # 'SunS'
        addr = BASE + 2
        for mid, points in MODELS:
            self.model_addr[mid] = addr
            off = 2
            for name, typ, size, access in points:
                n, _ = TYPES[typ]
                n = size if n is None else n
                self.points[(mid, name)] = (addr + off, typ, n)
                if access == "RW":
                    self.writable.update(range(addr + off, addr + off + n))
                off += n
            length = off - 2
            exp = EXPECTED[mid]
            assert length == exp["L"], (mid, length)
            for name, want in exp.items():
                if name != "L":
                    got = self.points[(mid, name)][0] - addr
                    assert got == want, (mid, name, got, want)
            regs += [mid, length] + [0] * length
            addr += 2 + length
        regs += [0xFFFF, 0]
        self.end = BASE + len(regs)
        self.regs = regs
        for (mid, name), (_, typ, _) in self.points.items():
            self.set(mid, name, TYPES[typ][1])  # "not implemented" everywhere

    def addr(self, mid, name):
        return self.points[(mid, name)][0]

    def set(self, mid, name, value):
        a, typ, n = self.points[(mid, name)]
        i = a - BASE
        if typ == "string":
            raw = value.encode("ascii") if isinstance(value, str) else bytes(n * 2)
            raw = raw[: n * 2].ljust(n * 2, b"\0")
            self.regs[i:i + n] = [(raw[k] << 8) | raw[k + 1] for k in range(0, n * 2, 2)]
            return
        v = int(value) & ((1 << (16 * n)) - 1)  # two's complement for signed types
        self.regs[i:i + n] = [(v >> (16 * (n - 1 - k))) & 0xFFFF for k in range(n)]

    def get(self, mid, name):
        a, typ, n = self.points[(mid, name)]
        i = a - BASE
        v = 0
        for r in self.regs[i:i + n]:
            v = (v << 16) | r
        if typ in ("int16", "int32", "sunssf") and v >= 1 << (16 * n - 1):
            v -= 1 << (16 * n)
        return v


def scale_for(max_value, limit):
    """Smallest SF >= 0 such that max_value / 10^SF fits in limit."""
    sf = 0
    while abs(max_value) / 10 ** sf > limit:
        sf += 1
    return sf


class Plant:
    def __init__(self, args):
        self.args = args
        self.max_w = args.max_kw * 1000.0
        self.cap_wh = args.capacity_kwh * 1000.0
        self.sqrt_eta = math.sqrt(args.efficiency / 100.0)
        self.energy_wh = self.cap_wh * min(max(args.soc, 0.0), 100.0) / 100.0
        self.response_s = args.response_ms / 1000.0
        self.hb_s = args.heartbeat_ms / 1000.0
        self.map = RegisterMap()
        self.loop = None  # set by main() before the server starts
        self.t_last = time.monotonic()
        self.target_w = 0.0  # commanded power once the response delay has passed
        self.actual_w = 0.0
        self.inputs = None  # (WSetEna, WSetMod, WSet, WSetPct) last seen
        self.faulted = False
        self.hb_last = None
        self.hb_changed = time.monotonic()
        self.inj_wh = 0.0
        self.abs_wh = 0.0
        self.dis_wh = 0.0  # DC energy drawn, for the cycle count
        self.w_sf = scale_for(self.max_w * 1.0 / self.sqrt_eta, 32767)
        self._init_static()
        self.inputs = self._setpoint_inputs()
        self.hb_last = self.map.get(802, "CtrlHb")
        self._publish()

    # ---- static contents --------------------------------------------------
    def _init_static(self):
        m = self.map
        m.set(1, "Mn", "cleori")
        m.set(1, "Md", "sunspec-plant")
        m.set(1, "Opt", "")
        m.set(1, "Vr", "1.0")
        m.set(1, "SN", "0001")
        m.set(1, "DA", 1)

        m.set(701, "ACType", 2)  # THREE_PHASE
        m.set(701, "St", 1)  # ON
        m.set(701, "ConnSt", 1)  # CONNECTED
        m.set(701, "Alrm", 0)
        m.set(701, "DERMode", 1)  # GRID_FOLLOWING
        m.set(701, "PF", 1000)
        m.set(701, "LLV", 4000)
        m.set(701, "LNV", 2309)
        m.set(701, "Hz", 5000)
        m.set(701, "A_SF", -1)
        m.set(701, "V_SF", -1)
        m.set(701, "Hz_SF", -2)
        m.set(701, "W_SF", self.w_sf)
        m.set(701, "PF_SF", -3)
        m.set(701, "VA_SF", self.w_sf)
        m.set(701, "Var_SF", self.w_sf)
        m.set(701, "Var", 0)
        m.set(701, "TotWh_SF", 0)
        m.set(701, "MnAlrmInfo", "")

        m.set(704, "WSetEna", 0)
        m.set(704, "WSetMod", 1)  # WATTS
        m.set(704, "WSet", 0)
        m.set(704, "WSetPct", 0)
        m.set(704, "WSet_SF", 0)
        m.set(704, "WSetPct_SF", -1)

        wh_sf = scale_for(self.cap_wh, 65534)
        m.set(713, "WHRtg", round(self.cap_wh / 10 ** wh_sf))
        m.set(713, "SoH", 1000)
        m.set(713, "WH_SF", wh_sf)
        m.set(713, "Pct_SF", -1)

        ah = self.cap_wh / DC_VOLTS
        ah_sf = scale_for(ah, 65534)
        rate_sf = scale_for(self.max_w, 65534)
        m.set(802, "AHRtg", round(ah / 10 ** ah_sf))
        m.set(802, "AHRtg_SF", ah_sf)
        m.set(802, "WHRtg", round(self.cap_wh / 10 ** wh_sf))
        m.set(802, "WHRtg_SF", wh_sf)
        m.set(802, "WChaRteMax", round(self.max_w / 10 ** rate_sf))
        m.set(802, "WDisChaRteMax", round(self.max_w / 10 ** rate_sf))
        m.set(802, "WChaDisChaMax_SF", rate_sf)
        m.set(802, "SoCMax", 1000)
        m.set(802, "SoCMin", 0)
        m.set(802, "SoH", 1000)
        m.set(802, "SoC_SF", -1)
        m.set(802, "DoD_SF", -1)
        m.set(802, "SoH_SF", -1)
        m.set(802, "LocRemCtl", 0)  # REMOTE
        m.set(802, "Hb", 0)
        m.set(802, "CtrlHb", 0)
        m.set(802, "AlmRst", 0)
        m.set(802, "Typ", 4)  # LITHIUM_ION
        m.set(802, "Evt1", 0)
        m.set(802, "Evt2", 0)
        m.set(802, "EvtVnd1", 0)
        m.set(802, "EvtVnd2", 0)
        m.set(802, "V", round(DC_VOLTS * 10))
        m.set(802, "V_SF", -1)
        m.set(802, "A_SF", -1)
        amax = self.max_w / DC_VOLTS / self.sqrt_eta
        amax_sf = scale_for(amax, 65534)
        m.set(802, "AChaMax", round(amax / 10 ** amax_sf))
        m.set(802, "ADisChaMax", round(amax / 10 ** amax_sf))
        m.set(802, "AMax_SF", amax_sf)
        m.set(802, "W_SF", self.w_sf)
        m.set(802, "SetOp", 1)  # CONNECT
        m.set(802, "SetInvState", 3)  # INVERTER_STARTED

    # ---- setpoint handling -------------------------------------------------
    def _setpoint_inputs(self):
        m = self.map
        return (m.get(704, "WSetEna"), m.get(704, "WSetMod"), m.get(704, "WSet"),
                m.get(704, "WSetPct"))

    def _commanded_w(self, inputs):
        ena, mod, wset, wpct = inputs
        m = self.map
        if ena != 1:
            return 0.0
        if mod == 1:
            if wset == -0x80000000:
                return 0.0
            w = wset * 10.0 ** m.get(704, "WSet_SF")
        elif mod == 0:
            if wpct == -0x8000:
                return 0.0
            w = wpct * 10.0 ** m.get(704, "WSetPct_SF") / 100.0 * self.max_w
        else:
            return 0.0
        return max(-self.max_w, min(self.max_w, w))

    def on_write(self, address, values):
        """Called after a client write has been stored."""
        now = time.monotonic()
        m = self.map
        a_hb = m.addr(802, "CtrlHb")
        if address <= a_hb < address + len(values):
            hb = m.get(802, "CtrlHb")
            if hb != self.hb_last:
                self.hb_last = hb
                self.hb_changed = now
                if self.faulted:
                    self._clear_fault("CtrlHb changed")
        a_rst = m.addr(802, "AlmRst")
        if address <= a_rst < address + len(values) and m.get(802, "AlmRst") == 1:
            if self.faulted:
                self._clear_fault("AlmRst")
            self.hb_changed = now
            m.set(802, "AlmRst", 0)
        inputs = self._setpoint_inputs()
        if inputs != self.inputs:
            self.inputs = inputs
            self._schedule(inputs, "write")
        self._advance(now)
        self._publish()

    def _schedule(self, inputs, why):
        cmd = self._commanded_w(inputs)
        ena, mod, wset, wpct = inputs
        log(f"setpoint ({why}): WSetEna={ena} WSetMod={mod} WSet={wset} "
            f"WSetPct={wpct} -> commanded {cmd:+.0f} W "
            f"({'discharge' if cmd > 0 else 'charge' if cmd < 0 else 'idle'}), "
            f"effective in {self.response_s * 1000:.0f} ms")
        self.loop.call_later(self.response_s, self._apply_target, cmd)

    def _apply_target(self, cmd):
        self._advance(time.monotonic())
        self.target_w = cmd
        self._update_actual()
        self._publish()

    # ---- heartbeat fault ----------------------------------------------------
    def _trip(self):
        self.faulted = True
        m = self.map
        log(f"heartbeat: CtrlHb unchanged for > {self.args.heartbeat_ms} ms -> "
            f"FAULT, power forced to 0, WSetEna reset to 0")
        m.set(704, "WSetEna", 0)
        self.inputs = self._setpoint_inputs()
        self._schedule(self.inputs, "heartbeat fault")
        self.target_w = 0.0  # drop the old setpoint at once, too
        self._update_actual()

    def _clear_fault(self, why):
        self.faulted = False
        log(f"heartbeat: fault cleared ({why})")
        self._update_actual()

    # ---- physics ------------------------------------------------------------
    def _update_actual(self):
        p = self.target_w
        if self.faulted or self.map.get(802, "SetOp") == 2:
            p = 0.0
        if p > 0 and self.energy_wh <= 0.0:
            p = 0.0
        if p < 0 and self.energy_wh >= self.cap_wh:
            p = 0.0
        self.actual_w = p

    def _advance(self, now):
        """Integrate energy from the last call up to now at the actual power."""
        dt_h = (now - self.t_last) / 3600.0
        self.t_last = now
        if dt_h <= 0:
            return
        p = self.actual_w
        if p > 0:
            self.energy_wh -= p / self.sqrt_eta * dt_h
            self.inj_wh += p * dt_h
            self.dis_wh += p / self.sqrt_eta * dt_h
        elif p < 0:
            self.energy_wh += -p * self.sqrt_eta * dt_h
            self.abs_wh += -p * dt_h
        self.energy_wh = min(max(self.energy_wh, 0.0), self.cap_wh)
        self._update_actual()

    def dc_power(self):
        p = self.actual_w
        return p / self.sqrt_eta if p > 0 else p * self.sqrt_eta

    def _publish(self):
        m = self.map
        p = self.actual_w
        scale = 10 ** self.w_sf
        soc = 100.0 * self.energy_wh / self.cap_wh if self.cap_wh > 0 else 0.0
        soc10 = round(soc * 10)
        m.set(701, "W", round(p / scale))
        m.set(701, "VA", round(abs(p) / scale))
        m.set(701, "A", round(abs(p) / (math.sqrt(3) * 400.0) * 10))
        m.set(701, "TotWhInj", round(self.inj_wh))
        m.set(701, "TotWhAbs", round(self.abs_wh))
        if self.faulted:
            m.set(701, "InvSt", 6)  # FAULT
        elif p != 0:
            m.set(701, "InvSt", 3)  # RUNNING
        else:
            m.set(701, "InvSt", 7)  # STANDBY

        wh_sf = m.get(713, "WH_SF")
        m.set(713, "WHAvail", round(self.energy_wh / 10 ** wh_sf))
        m.set(713, "SoC", soc10)
        m.set(713, "Sta", 2 if self.faulted else 0)  # ERROR / OK

        m.set(802, "SoC", soc10)
        m.set(802, "DoD", 1000 - soc10)
        m.set(802, "NCyc", int(self.dis_wh / self.cap_wh) if self.cap_wh > 0 else 0)
        if p > 0:
            chast = 3  # DISCHARGING
        elif p < 0:
            chast = 4  # CHARGING
        elif self.energy_wh <= 0.0:
            chast = 2  # EMPTY
        elif self.energy_wh >= self.cap_wh:
            chast = 5  # FULL
        else:
            chast = 6  # HOLDING
        m.set(802, "ChaSt", chast)
        if self.faulted:
            state = 99  # FAULT
        elif m.get(802, "SetOp") == 2:
            state = 1  # DISCONNECTED
        else:
            state = 3  # CONNECTED
        m.set(802, "State", state)
        m.set(802, "Evt1", 1 if self.faulted else 0)  # bit 0 COMMUNICATION_ERROR
        pdc = self.dc_power()
        m.set(802, "W", round(pdc / scale))
        m.set(802, "A", round(pdc / DC_VOLTS * 10))

    async def run(self):
        next_hb = time.monotonic() + 1.0
        while True:
            await asyncio.sleep(TICK_S)
            now = time.monotonic()
            self._advance(now)
            if self.hb_s > 0 and not self.faulted and now - self.hb_changed > self.hb_s:
                self._trip()
            if now >= next_hb:
                next_hb += 1.0
                self.map.set(802, "Hb", (self.map.get(802, "Hb") + 1) & 0xFFFF)
            self._publish()


class PlantBlock(ModbusSequentialDataBlock):
    """Holding/input register block backed by the plant's register image."""

    def __init__(self, regmap):
        super().__init__(BASE, [0])
        self.values = regmap.regs  # shared list, updated in place by the plant


class NoBlock(ModbusSequentialDataBlock):
    """A block with no valid addresses (coils, discrete inputs)."""

    def __init__(self):
        super().__init__(0, [0])

    def validate(self, address, count=1):
        return False


class PlantContext(ModbusSlaveContext):
    def __init__(self, plant):
        block = PlantBlock(plant.map)
        super().__init__(hr=block, ir=block, co=NoBlock(), di=NoBlock(), zero_mode=True)
        self.plant = plant

    def validate(self, fc_as_hex, address, count=1):
        if not super().validate(fc_as_hex, address, count):
            return False
        if fc_as_hex in WRITE_FCS:
            w = self.plant.map.writable
            return all(a in w for a in range(address, address + count))
        return True

    def setValues(self, fc_as_hex, address, values):
        super().setValues(fc_as_hex, address, values)
        if fc_as_hex in WRITE_FCS:
            self.plant.on_write(address, list(values))


def log(msg):
    print(f"sunspec-plant: {msg}", file=sys.stderr, flush=True)


def parse_args(argv):
    ap = argparse.ArgumentParser(description="SunSpec storage plant (Modbus TCP)")
    ap.add_argument("--port", type=int, default=0, help="TCP port, 0 = pick a free one")
    ap.add_argument("--bind", default="127.0.0.1")
    ap.add_argument("--capacity-kwh", type=float, default=200.0)
    ap.add_argument("--max-kw", type=float, default=100.0)
    ap.add_argument("--response-ms", type=float, default=500.0)
    ap.add_argument("--soc", type=float, default=50.0, help="initial SoC in percent")
    ap.add_argument("--efficiency", type=float, default=90.0,
                    help="round-trip efficiency in percent")
    ap.add_argument("--heartbeat-ms", type=float, default=0.0,
                    help="CtrlHb watchdog timeout, 0 = off")
    ap.add_argument("--verbose", action="store_true", help="pymodbus debug logging")
    args = ap.parse_args(argv)
    if args.max_kw <= 0 or args.capacity_kwh <= 0:
        ap.error("--max-kw and --capacity-kwh must be > 0")
    if not 0 < args.efficiency <= 100:
        ap.error("--efficiency must be in (0, 100]")
    if args.response_ms < 0 or args.heartbeat_ms < 0:
        ap.error("--response-ms and --heartbeat-ms must be >= 0")
    return args


async def main(args):
    plant = Plant(args)
    plant.loop = asyncio.get_running_loop()
    context = ModbusServerContext(slaves=PlantContext(plant), single=True)
    server = ModbusTcpServer(context, address=(args.bind, args.port),
                             allow_reuse_address=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    serve_task = asyncio.create_task(server.serve_forever())
    waits = [asyncio.ensure_future(server.serving), serve_task]
    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    if not server.serving.done():
        serve_task.result()  # raises the bind error
        raise RuntimeError("server stopped before listening")
    host, port = server.server.sockets[0].getsockname()[:2]
    print(f"sunspec-plant: listening on {host}:{port}", flush=True)

    plant_task = asyncio.create_task(plant.run())
    stop_task = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stop_task, plant_task, serve_task],
                                 return_when=asyncio.FIRST_COMPLETED)
    for t in (plant_task, serve_task, stop_task):
        if t in done and t is not stop_task and t.exception():
            raise t.exception()
    plant_task.cancel()
    for handler in list(server.active_connections.values()):
        handler.transport.close()
    try:
        await asyncio.wait_for(server.server_close(), 2.0)
    except asyncio.TimeoutError:
        pass
    serve_task.cancel()
    for t in (plant_task, serve_task):
        try:
            await t
        except (asyncio.CancelledError, Exception):  # pylint: disable=broad-except
            pass
    return 0


if __name__ == "__main__":
    _args = parse_args(sys.argv[1:])
    logging.basicConfig(stream=sys.stderr)
    logging.getLogger("pymodbus").setLevel(logging.DEBUG if _args.verbose
                                           else logging.CRITICAL)
    try:
        sys.exit(asyncio.run(main(_args)))
    except OSError as exc:
        log(f"error: {exc}")
        sys.exit(1)
