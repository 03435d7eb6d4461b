"""Benchmark-only reference: northroute's weekly retail-market rule written the idiomatic Mesa 3 way.

Why it exists: to measure northroute's array engine against the way most agent-based modellers would
write the same rule (one object per agent, methods called through Mesa's AgentSet). It mirrors
`northroute.processes.trade.consign_to_retail` and `retail_sales` plus the users' weekly income,
simplified to what both sides share: no second-choice dealers, no buying pools, fixed prices, and
purity carried as a share instead of pure grams.

Proportional rationing needs to know a seller's whole demand before anyone is served, so each stage
runs in passes over an AgentSet: buyers place orders, sellers work out the share they can fill,
buyers collect, sellers settle. Order within a pass does not change the result.

This module does not import northroute: a `RetailSetup` of plain lists is all it needs.
"""

from __future__ import annotations

from dataclasses import dataclass

import mesa

EWMA = 0.25  # same weight of the latest week as northroute's trade.EWMA


@dataclass
class RetailSetup:
    """Starting numbers and links of every agent, as plain Python lists (index = position in list).

    `dealer_supplier` indexes the wholesaler lists and `user_dealer` the dealer lists; -1 means none.
    """

    wholesaler_stock: list[float]
    wholesaler_purity: list[float]
    wholesaler_cash: list[float]
    wholesaler_demand: list[float]
    dealer_supplier: list[int]
    dealer_substance: list[int]
    dealer_stock: list[float]
    dealer_purity: list[float]
    dealer_cash: list[float]
    dealer_demand: list[float]
    dealer_need: list[float]
    user_dealer: list[int]
    user_market: list[int]
    user_need: list[float]
    user_cash: list[float]
    user_income: list[float]
    price_table: list[float]  # KZT per street gram, by market (region * 3 + substance)
    cutting: list[float]  # share of cutting agent in each street gram, by substance
    retail_cover_weeks: float = 1.0
    dealer_commission: float = 0.1
    dealer_daily_dose: bool = True
    cash_cap_weeks: float = 4.0


class WholesalerAgent(mesa.Agent):
    """Supplies a team of retail dealers; rations stock when orders exceed it."""

    def __init__(self, model: RetailModel, stock: float, purity: float, cash: float, demand: float) -> None:
        super().__init__(model)
        self.stock = stock
        self.purity = purity
        self.cash = cash
        self.demand_ewma = demand
        self.asked = 0.0
        self.fill = 1.0

    def open_book(self) -> None:
        """Forget last week's orders so this week's can be summed."""
        self.asked = 0.0

    def set_fill(self) -> None:
        """Share of every order that can be met: the same for all dealers, so scarcity is shared fairly."""
        self.fill = min(1.0, max(self.stock, 0.0) / self.asked) if self.asked > 0.0 else 1.0

    def update_demand(self) -> None:
        """Smooth what the team asked for; northroute's wholesalers buy lots against this."""
        self.demand_ewma += EWMA * (self.asked - self.demand_ewma)


class RetailDealerAgent(mesa.Agent):
    """Sells to his users on consignment: all cash goes to the wholesaler, pay is in kind."""

    def __init__(self, model: RetailModel, supplier: WholesalerAgent | None, substance: int, stock: float,
                 purity: float, cash: float, demand: float, need: float) -> None:
        super().__init__(model)
        self.supplier = supplier
        self.substance = substance
        self.stock = stock
        self.purity = purity
        self.cash = cash
        self.demand_ewma = demand
        self.need = need
        self.want = 0.0
        self.asked = 0.0
        self.fill = 1.0
        self.sold = 0.0
        self.revenue = 0.0

    def order(self) -> None:
        """Ask the wholesaler for enough to cover next weeks' sales and own dose (in uncut grams)."""
        if self.supplier is None:
            self.want = 0.0
            return
        cut = self.model.cutting[self.substance]
        target = (self.model.retail_cover_weeks + 1.0) * self.demand_ewma + self.need
        self.want = max(0.0, target - self.stock) * (1.0 - cut)
        self.supplier.asked += self.want

    def collect(self) -> None:
        """Take the rationed share, then cut it: bulk grows by got/(1-a) at the wholesaler's purity."""
        if self.supplier is None:
            return
        got = self.want * self.supplier.fill
        if got <= 0.0:
            return
        self.supplier.stock -= got
        pure = self.stock * self.purity + got * self.supplier.purity
        self.stock += got / (1.0 - self.model.cutting[self.substance])
        self.purity = pure / self.stock

    def open_book(self) -> None:
        """Forget last week's sales so this week's can be summed."""
        self.asked = self.sold = self.revenue = 0.0

    def set_fill(self) -> None:
        """Share of every user's request that can be met from stock."""
        self.fill = min(1.0, max(self.stock, 0.0) / self.asked) if self.asked > 0.0 else 1.0

    def settle(self) -> None:
        """Hand revenue to the wholesaler, keep the in-kind pay, and smooth the demand seen."""
        allowance = self.model.dealer_commission * self.sold + (self.need if self.model.dealer_daily_dose else 0.0)
        own = max(0.0, min(allowance, self.need, self.stock))
        self.stock -= own
        if self.supplier is not None:
            self.supplier.cash += self.revenue
        else:
            self.cash += self.revenue
        self.demand_ewma += EWMA * (self.asked - self.demand_ewma)


class UserAgent(mesa.Agent):
    """Buys up to a week's need from his own dealer, as far as cash allows."""

    def __init__(self, model: RetailModel, dealer: RetailDealerAgent | None, market: int, need: float,
                 cash: float, income: float) -> None:
        super().__init__(model)
        self.dealer = dealer
        self.market = market
        self.need = need
        self.cash = cash
        self.income = income
        self.price = 0.0
        self.want = 0.0
        self.got = 0.0

    def order(self) -> None:
        """Tell the dealer how much is wanted so he can ration before serving anyone."""
        self.price = self.model.price_table[self.market]
        self.want = min(self.need, self.cash / self.price) if self.cash > 0.0 else 0.0
        if self.dealer is not None:
            self.dealer.asked += self.want

    def buy(self) -> None:
        """Take the dealer's rationed share and pay for it."""
        self.got = self.want * self.dealer.fill if self.dealer is not None else 0.0
        if self.got <= 0.0:
            return
        cost = self.got * self.price
        self.cash -= cost
        self.dealer.stock -= self.got
        self.dealer.sold += self.got
        self.dealer.revenue += cost

    def earn(self) -> None:
        """Weekly income, with savings capped at a few weeks of it."""
        self.cash = min(self.cash + self.income, self.model.cash_cap_weeks * self.income)


class RetailModel(mesa.Model):
    """One step = one week: dealers restock from wholesalers, then users buy from dealers."""

    def __init__(self, setup: RetailSetup, seed: int | None = None) -> None:
        super().__init__(seed=seed)
        self.price_table = setup.price_table
        self.cutting = setup.cutting
        self.retail_cover_weeks = setup.retail_cover_weeks
        self.dealer_commission = setup.dealer_commission
        self.dealer_daily_dose = setup.dealer_daily_dose
        self.cash_cap_weeks = setup.cash_cap_weeks
        wholesalers = _make_wholesalers(self, setup)
        dealers = _make_dealers(self, setup, wholesalers)
        _make_users(self, setup, dealers)

    def step(self) -> None:
        self.restock()
        self.sell()

    def restock(self) -> None:
        """consign_to_retail: two passes so a short wholesaler can share stock in proportion to orders."""
        wholesalers = self.agents_by_type[WholesalerAgent]
        dealers = self.agents_by_type[RetailDealerAgent]
        wholesalers.do("open_book")
        dealers.shuffle_do("order")
        wholesalers.do("set_fill")
        dealers.do("collect")
        wholesalers.do("update_demand")

    def sell(self) -> None:
        """retail_sales and the users' income: order, ration, buy, settle, earn."""
        dealers = self.agents_by_type[RetailDealerAgent]
        users = self.agents_by_type[UserAgent]
        dealers.do("open_book")
        users.shuffle_do("order")
        dealers.do("set_fill")
        users.do("buy")
        dealers.do("settle")
        users.do("earn")

    def grams_to_users(self) -> float:
        """Street grams users received in the last step (for checking against northroute)."""
        return self.agents_by_type[UserAgent].agg("got", sum)


def _make_wholesalers(model: RetailModel, s: RetailSetup) -> list[WholesalerAgent]:
    return [WholesalerAgent(model, *row) for row in
            zip(s.wholesaler_stock, s.wholesaler_purity, s.wholesaler_cash, s.wholesaler_demand, strict=True)]


def _make_dealers(model: RetailModel, s: RetailSetup, wholesalers: list[WholesalerAgent]) -> list[RetailDealerAgent]:
    rows = zip(s.dealer_supplier, s.dealer_substance, s.dealer_stock, s.dealer_purity, s.dealer_cash,
               s.dealer_demand, s.dealer_need, strict=True)
    return [RetailDealerAgent(model, wholesalers[sup] if sup >= 0 else None, *rest) for sup, *rest in rows]


def _make_users(model: RetailModel, s: RetailSetup, dealers: list[RetailDealerAgent]) -> list[UserAgent]:
    rows = zip(s.user_dealer, s.user_market, s.user_need, s.user_cash, s.user_income, strict=True)
    return [UserAgent(model, dealers[d] if d >= 0 else None, *rest) for d, *rest in rows]
